# The page benches/table-order.sh reads: a form table with wrapped cells, and its
# cell-by-cell transcription (truth2.txt), written to the current folder.
from PIL import Image, ImageDraw, ImageFont
W,H=2480,3508
img=Image.new('L',(W,H),255); d=ImageDraw.Draw(img)
f=ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',42)
fb=ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf',46)
truth=[]
y=300
t="BẢNG KÊ GIẤY TỜ TRONG HỒ SƠ"; w=d.textlength(t,font=fb); d.text(((W-w)/2,y),t,font=fb,fill=0); truth.append(t); y+=140
cols=[200,400,1250,1600,2280]
rows=[[["STT"],["Tên giấy tờ"],["Số bản"],["Ghi chú"]],
      [["1"],["Giấy khai sinh","bản sao từ sổ gốc"],["01"],["Bản sao có chứng thực","của UBND xã Tân Phú"]],
      [["2"],["Căn cước công dân"],["01"],["Bản chính, trả lại","sau khi đối chiếu"]],
      [["3"],["Giấy xác nhận tình trạng","hôn nhân của hai bên"],["02"],["Còn hiệu lực","trong sáu tháng"]],
      [["4"],["Tờ khai đăng ký kết hôn"],["01"],["Theo mẫu","ban hành kèm Thông tư"]]]
rh=170
top=y
for r,row in enumerate(rows):
    for c,cell in enumerate(row):
        font=fb if r==0 else f
        for i,line in enumerate(cell):
            d.text((cols[c]+20,y+25+i*62),line,font=font,fill=0)
        truth.append(' '.join(cell))
    y+=rh
for x in cols: d.line([(x,top),(x,y)],fill=0,width=4)
for i in range(len(rows)+1): d.line([(cols[0],top+i*rh),(cols[-1],top+i*rh)],fill=0,width=4)
img.save('table2.png',dpi=(300,300))
open('truth2.txt','w').write('\n'.join(truth)+'\n')
